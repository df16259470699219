"""Cercle registration service: who takes part in which community."""

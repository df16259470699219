"""Cercle's shared kernel: contracts every service speaks, and the plumbing written once."""

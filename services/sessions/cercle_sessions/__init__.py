"""Cercle sessions service: the program of a community year, its sessions, and what comes out of them."""

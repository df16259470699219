"""Cercle insights service: how communities live, in aggregates only."""

"""Cercle notifications service: tells members, in their language, where they stand for a session."""

"""cercle-ops: what an operator runs next to a compose deployment of Cercle."""

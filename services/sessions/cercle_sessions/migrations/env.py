from cercle_shared.db.migrations import run_env

from cercle_sessions.adapters.orm import metadata

run_env(metadata)

from cercle_insights.adapters.orm import metadata
from cercle_shared.db.migrations import run_env

run_env(metadata)

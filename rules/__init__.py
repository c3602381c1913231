"""Rule-based pruning strategy (RPS): declarative rules rendered to PySR kwargs and to the DEAP engine."""

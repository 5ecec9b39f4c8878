"""prunus.multiagent: Friedkin-Johnsen opinion dynamics for agent networks."""

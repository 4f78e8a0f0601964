"""The `bwc` commands, grouped by what users do: work on rulesets, decide incidents, audit exports, serve
decisions."""

"""The police household-register clean-up (户籍清理, ST 8): corrections, the agencies' tasks
and what applying them does (corrections.py), the lists (query.py), the rules per district
(rules.py). The comparisons (cross-checks) read ``household_correction`` directly."""

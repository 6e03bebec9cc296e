"""Demo seeding: ``data.py`` generates a county's people (deterministic, seeded) and
``seed.py`` writes them, the demo users and a few cases through the services."""

"""Demo data for ``make run`` and ``seed_demo``: a believable catalog and customer base, written through the
services."""

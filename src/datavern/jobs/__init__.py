"""Background work: an inline runner by default, Celery when configured (see runner.py)."""

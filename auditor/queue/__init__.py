"""Running audits on Celery workers (issue 14, parts 2-4): only the foundation is here so far.

Imports nothing heavy: Celery is imported by :func:`auditor.queue.celery_app.make_celery` only.
"""

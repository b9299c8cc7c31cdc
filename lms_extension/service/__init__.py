"""The LMS service: a JupyterHub-managed service (``lms``) that keeps the catalog of the live
content version, learners' progress, cohort deadlines and survey answers, and serves them at
``/services/lms/api/``. Start it with ``python -m lms_extension.service``; see README.md.
"""

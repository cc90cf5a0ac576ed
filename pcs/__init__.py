"""The application shell: ``pcs.settings`` (every ``PCS_*`` variable), the ``pcs`` command line
(``pcs.cli``) and the synthetic data generator (``pcs.generate``)."""

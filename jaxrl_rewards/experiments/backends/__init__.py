"""Where a sweep's chunks run: ``local`` (this process's devices) or ``ray`` (a cluster)."""

"""What every request passes before a route sees it: the client's address, the per-address and per-account request
budgets, the size limits, the security headers and the warning when a development secret is exposed."""

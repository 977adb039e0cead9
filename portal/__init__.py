"""The customer self-service portal (HTMX), entered through signed portal-session links (portal issue)."""

"""The static HTML report of the catalog and its deliveries (templates, assets, charts)."""

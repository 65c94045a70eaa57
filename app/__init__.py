"""Panel/Bokeh dashboard: animated cortical sheets, selectivity overlays, lesion experiments."""

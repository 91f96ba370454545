"""taskmon-site: a static site for repositories of Markdown task files."""

__version__ = "0.1.0"

"""srdesk: make photos larger and sharper with learned super-resolution."""

__version__ = "0.1.0"

"""The regional brand registry: brands, licences, checked brand claims, public pages."""

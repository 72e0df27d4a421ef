"""The pure domain: no AWS SDK imports here."""

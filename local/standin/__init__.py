"""snaplake's local AWS stand-in: the moto server plus small patches where moto
falls short of what snaplake relies on (see local/README.md)."""

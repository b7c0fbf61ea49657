"""Operator commands run through make (e.g. ``make redrive``)."""

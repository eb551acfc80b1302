"""Loyalty writes, split by sub-domain: program, ledger, earning, redemption."""

"""Campaigns: a marketing campaign's landing pages, coupon and email checked before launch.

`auditor.checks.campaign` is the check kind; `spec` its options (also the format of a campaign
file for `auditor campaign FILE.toml`), `params` the tracking parameters, `landing` the landing
pages, `coupon` the cart coupon (a step helper scenarios can use too), `mailfile` the campaign's
email and `spelling` its spelling check.
"""

"""The general lexicons of the offline judge (negation, hedges, referrals ...), one YAML file each.

Data only: they are loaded by name through the search path of
rubricate.guidelines.kernel.lexicons, which also finds a study's own lexicons
(compiler/moore2025/lexicons).
"""

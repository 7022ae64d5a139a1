"""ntkverify.reports"""

"""ntkverify.properties"""

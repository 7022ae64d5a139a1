"""ntkverify.shell: the top floor — the command line (:mod:`~ntkverify.shell.cli`), the pytest plugin
(:mod:`~ntkverify.shell.plugin`), the Hypothesis profiles (:mod:`~ntkverify.shell.profiles`) and the package's
``ntkverify.verify`` (:mod:`~ntkverify.shell.api`).

The shell may import every floor below it; nothing below imports the shell. What the lower floors need from a
profile they define themselves and the shell fills in: the properties floor finds the case sizes of the
profile in force in its budget registry (:mod:`ntkverify.properties.budget`), which registering the profiles
fills.
"""

"""``python -m raybatch`` is the ``raybatch`` command."""

from raybatch.cli.main import main

main()

"""Run the tfrec command line from a checkout: ``python cli.py train --model neumf``."""

from tfrec.cli import main

if __name__ == "__main__":
    main()

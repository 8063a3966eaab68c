from trailbook.cli.main import main

main()

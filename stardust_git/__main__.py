from stardust_git.cli import main

main()

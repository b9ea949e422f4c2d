from stardust_git.warm.client import main

main()

from imurun.cli import main

raise SystemExit(main())

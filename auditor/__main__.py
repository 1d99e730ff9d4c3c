from auditor._entry import main

raise SystemExit(main())

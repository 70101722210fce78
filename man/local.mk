# man/: manual pages, installed with the programs.
dist_man_MANS += man/ssm-milter.8 man/ssm-milter.toml.5 man/ssmctl.8

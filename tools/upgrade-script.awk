# Build an upgrade script from its hand-written part: every line
#   -- replace function: NAME
# becomes CREATE OR REPLACE FUNCTION statements for every function NAME (all
# overloads) as the object files define it now, so a changed function is
# written once, in its object file.  (CREATE OR REPLACE keeps the grants a
# DBA gave; REVOKEs and COMMENTs that changed go in the part by hand.)
# Likewise every line
#   -- replace view: NAME
# becomes CREATE OR REPLACE VIEW NAME as the object files define it now.
#
#   awk -v part=PART -f tools/upgrade-script.awk OBJECT... PART
FILENAME != part {
	if (!inview && match($0, /^CREATE VIEW @extschema@\.[a-z_0-9]+ AS$/)) {
		vname = substr($0, 25, RLENGTH - 27)
		inview = 1
		vbuf = "CREATE OR REPLACE VIEW" substr($0, 12) "\n"
		next
	} else if (inview) {
		vbuf = vbuf $0 "\n"
		if ($0 ~ /;$/) {
			views[vname] = vbuf
			inview = 0
		}
		next
	}
	if (!inblock && match($0, /^CREATE FUNCTION @extschema@\.[a-z_0-9]+\(/)) {
		name = substr($0, 29, RLENGTH - 29)
		inblock = 1
		buf = "CREATE OR REPLACE FUNCTION" substr($0, 16) "\n"
	} else if (inblock)
		buf = buf $0 "\n"
	if (inblock && ($0 ~ /^\$body\$;$/ || $0 ~ /^\$\$;$/ || $0 ~ /^AS 'MODULE_PATHNAME', '[^']*';$/)) {
		defs[name] = defs[name] buf "\n"
		inblock = 0
	}
	next
}
/^-- replace function: / {
	n = substr($0, 22)
	if (!(n in defs)) {
		print "upgrade-script: " part ": no function " n " in the object files" > "/dev/stderr"
		failed = 1
		exit 1
	}
	printf "%s", defs[n]
	next
}
/^-- replace view: / {
	n = substr($0, 18)
	if (!(n in views)) {
		print "upgrade-script: " part ": no view " n " in the object files" > "/dev/stderr"
		failed = 1
		exit 1
	}
	printf "%s", views[n]
	next
}
{ print }
END { if (failed) exit 1 }

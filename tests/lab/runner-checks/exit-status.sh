# Runner check: output comes back and the exit status is the scenario's.
# lab-timeout: 300
echo "runner-check: hello from $(uname -r)"
printf 'runner-check: carriage return stripped\r\n'
exit 3

# Runner check: a scenario that never ends is killed at its timeout.
# lab-timeout: 600
echo "runner-check: about to hang"
sleep 100000

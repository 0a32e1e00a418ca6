// cli/: the usbhop command line. Parses global options, picks the command,
// prints help, checks the configuration for commands that read it, sets the
// log level, and hands over to the command's handler (commands.hpp).
#pragma once

namespace usbhop::cli {

// The whole program; returns the exit status (0, 1 failure, 2 usage or config).
int main(int argc, char** argv);

}  // namespace usbhop::cli

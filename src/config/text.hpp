// Small string helpers shared by the config parsers and the command line:
// trimming, splitting on whitespace, and "did you mean" suggestions.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace usbhop::config {

std::string_view trim(std::string_view s);
std::vector<std::string_view> split_words(std::string_view s);

// Edit distance with adjacent transpositions counted as one edit
// ("listne" -> "listen" is 1).
size_t edit_distance(std::string_view a, std::string_view b);
// The candidate closest to word, or "" when none is close enough to be a
// plausible typo.
std::string closest(std::string_view word, std::span<const std::string_view> candidates);

}  // namespace usbhop::config

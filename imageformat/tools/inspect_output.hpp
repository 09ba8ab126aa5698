// Renders an ImageReport: compact aligned text for people, or one JSON
// document (schema in share/man/ckpt-inspect.1) for programs.
#pragma once

#include <ostream>

#include "image_report.hpp"

namespace ckpt::tools {

void print_text_report(std::ostream& out, const ImageReport& report, const InspectOptions& options);
void print_json_report(std::ostream& out, const ImageReport& report, const InspectOptions& options);

}  // namespace ckpt::tools

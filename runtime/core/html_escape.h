// Text for HTML: & < > " escaped. The pages dump_acts and train_gpu write share it.
#pragma once
#include <string>

namespace acts {

std::string html_escape(const std::string& s);

}  // namespace acts

// areaDetector NDFileHDF5 XML layouts (see ad_layout.hpp), parsed with libxml2: no network, no
// entity expansion, errors with the line they are on.
#include "ad_layout.hpp"

#include "lumen/error.hpp"

#include <fstream>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <memory>
#include <mutex>
#include <sstream>

namespace lumen::ptycho {

namespace {

struct DocDeleter {
  void operator()(xmlDoc* d) const noexcept { xmlFreeDoc(d); }
};
struct CtxtDeleter {
  void operator()(xmlParserCtxt* c) const noexcept { xmlFreeParserCtxt(c); }
};

bool is(const xmlNode* n, const char* name) {
  return n->type == XML_ELEMENT_NODE && xmlStrcmp(n->name, reinterpret_cast<const xmlChar*>(name)) == 0;
}

std::optional<std::string> attr(const xmlNode* n, const char* name) {
  xmlChar* v = xmlGetProp(n, reinterpret_cast<const xmlChar*>(name));
  if (!v) return std::nullopt;
  std::string s(reinterpret_cast<const char*>(v));
  xmlFree(v);
  return s;
}

bool truthy(const std::optional<std::string>& v) {
  return v && (*v == "true" || *v == "1");
}

// Keeps the first error libxml2 reports while parsing (the context's _private points here).
struct FirstError {
  bool seen = false;
  int line = 0;
  std::string message;
  // `const xmlError*` from libxml2 2.12 on, `xmlError*` before: the generic lambda fits both.
  static constexpr auto record = [](void* user, auto* e) {
    auto* ctxt = static_cast<xmlParserCtxt*>(user);
    if (!ctxt || !e || !ctxt->_private) return;
    auto* self = static_cast<FirstError*>(ctxt->_private);
    if (self->seen || e->level < XML_ERR_ERROR) return;
    self->seen = true;
    self->line = e->line;
    self->message = e->message ? e->message : "not well-formed XML";
  };
};

class Walker {
public:
  explicit Walker(AdLayout& out) : out_(out) {}

  [[noreturn]] void fail(const xmlNode* n, const std::string& what) const {
    throw InputError(out_.origin + ":" + std::to_string(xmlGetLineNo(n)) + ": " + what);
  }

  std::string required(const xmlNode* n, const char* name) const {
    auto v = attr(n, name);
    if (!v || v->empty())
      fail(n, "<" + std::string(reinterpret_cast<const char*>(n->name)) + "> needs a " + name + "=\"...\" attribute");
    if (std::string_view(name) == "name" && v->find('/') != std::string::npos)
      fail(n, "name=\"" + *v + "\" contains '/': nest <group> elements instead");
    return *v;
  }

  void group(const xmlNode* g, const std::string& path) {
    if (truthy(attr(g, "ndattr_default"))) out_.ndattr_default_groups.push_back(path);
    for (const xmlNode* c = g->children; c; c = c->next) {
      if (c->type != XML_ELEMENT_NODE) continue;
      if (is(c, "group")) {
        group(c, path + "/" + required(c, "name"));
      } else if (is(c, "dataset")) {
        dataset(c, path + "/" + required(c, "name"));
      } else if (is(c, "hardlink")) {
        out_.hardlinks.emplace_back(path + "/" + required(c, "name"), required(c, "target"));
      } else if (is(c, "attribute")) {
        (void)required(c, "name"); // attributes describe objects; no data of a scan lives in them
      } else {
        fail(c, "unknown element <" + std::string(reinterpret_cast<const char*>(c->name)) +
                    "> inside a group (expected group, dataset, attribute or hardlink)");
      }
    }
  }

  void dataset(const xmlNode* n, std::string path) {
    AdLayoutDataset d;
    d.path = std::move(path);
    d.source = required(n, "source");
    if (d.source != "detector" && d.source != "ndattribute" && d.source != "constant")
      fail(n, "dataset '" + d.path + "' has source=\"" + d.source + "\"; expected detector, ndattribute or constant");
    d.ndattribute = attr(n, "ndattribute").value_or("");
    if (d.source == "ndattribute" && d.ndattribute.empty())
      fail(n, "dataset '" + d.path + "' has source=\"ndattribute\" but no ndattribute=\"...\" naming the attribute");
    d.value = attr(n, "value").value_or("");
    d.when = attr(n, "when").value_or("");
    d.det_default = truthy(attr(n, "det_default"));
    d.line = static_cast<int>(xmlGetLineNo(n));
    out_.datasets.push_back(std::move(d));
  }

private:
  AdLayout& out_;
};

} // namespace

std::string AdLayout::detector_path() const {
  const AdLayoutDataset* first = nullptr;
  for (const auto& d : datasets) {
    if (d.source != "detector") continue;
    if (d.det_default) return d.path;
    if (!first) first = &d;
  }
  if (!first)
    throw InputError("layout " + origin +
                     " has no <dataset source=\"detector\">: it does not say where the frames are; set data_path");
  return first->path;
}

std::optional<std::string> AdLayout::ndattribute_path(const std::string& name) const {
  for (const auto& d : datasets)
    if (d.source == "ndattribute" && d.ndattribute == name) return d.path;
  if (!ndattr_default_groups.empty()) return ndattr_default_groups.front() + "/" + name;
  return std::nullopt;
}

std::vector<std::string> AdLayout::ndattributes() const {
  std::vector<std::string> names;
  for (const auto& d : datasets)
    if (d.source == "ndattribute") names.push_back(d.ndattribute);
  return names;
}

AdLayout parse_ad_layout_text(std::string_view xml, const std::string& origin) {
  static std::once_flag init;
  std::call_once(init, [] { xmlInitParser(); });
  AdLayout out;
  out.origin = origin;
  std::unique_ptr<xmlParserCtxt, CtxtDeleter> ctxt(xmlNewParserCtxt());
  if (!ctxt) throw Error("libxml2: cannot create a parser context");
  // The FIRST error is the one to show (later ones follow from it, e.g. "premature end of data").
  FirstError first;
  ctxt->_private = &first;
  ctxt->sax->serror = FirstError::record;
  if (xml.size() > (64u << 20)) throw InputError(origin + ": " + std::to_string(xml.size()) + " bytes is not a layout");
  std::unique_ptr<xmlDoc, DocDeleter> doc(xmlCtxtReadMemory(
      ctxt.get(), xml.data(), static_cast<int>(xml.size()), nullptr, nullptr,
      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)); // no XML_PARSE_NOENT: entities stay unexpanded
  if (!doc || !ctxt->wellFormed) {
    std::string msg = first.message;
    int line = first.line;
    if (!first.seen) {
      const xmlError* e = xmlCtxtGetLastError(ctxt.get());
      msg = e && e->message ? e->message : "not well-formed XML";
      line = e ? e->line : 0;
    }
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    throw InputError(origin + ":" + std::to_string(line) + ": not a valid XML layout: " + msg);
  }
  const xmlNode* root = xmlDocGetRootElement(doc.get());
  if (!root) throw InputError(origin + ":1: the XML document is empty");
  Walker walk(out);
  if (is(root, "group")) {
    walk.group(root, "/" + walk.required(root, "name"));
  } else {
    for (const xmlNode* c = root->children; c; c = c->next) {
      if (is(c, "group"))
        walk.group(c, "/" + walk.required(c, "name"));
      else if (is(c, "dataset"))
        walk.dataset(c, "/" + walk.required(c, "name"));
      else if (c->type == XML_ELEMENT_NODE && !is(c, "global"))
        walk.fail(c, "unknown element <" + std::string(reinterpret_cast<const char*>(c->name)) +
                         "> at the top of the layout (expected group or global)");
    }
  }
  if (out.datasets.empty() && out.ndattr_default_groups.empty())
    throw InputError(origin + ":" + std::to_string(xmlGetLineNo(root)) +
                     ": the layout declares no <dataset> and no ndattr_default group (is this an NDFileHDF5 layout?)");
  return out;
}

AdLayout parse_ad_layout(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError(file.string() + ": cannot open the XML layout file");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_ad_layout_text(text.str(), file.string());
}

} // namespace lumen::ptycho

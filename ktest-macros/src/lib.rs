//! `#[ktest]` marks a `fn()` as an in-kernel test: it is compiled into every
//! kernel and registered in the `.ktests` linker section, where
//! `framework::ktest` finds it. `#[ktest(ignore)]` registers it as ignored
//! (run only with `ktest --ignored`).
//!
//! Written without syn/quote to keep the build offline-light: the item is
//! passed through unchanged and a registration static is appended.
use proc_macro::{Delimiter, TokenStream, TokenTree};

#[proc_macro_attribute]
pub fn ktest(attr: TokenStream, item: TokenStream) -> TokenStream {
    let attr = attr.to_string();
    let ignore = match attr.trim() {
        "" => false,
        "ignore" => true,
        other => return compile_error(&format!("#[ktest] takes no argument or `ignore`, not `{other}`")),
    };
    let Some(name) = fn_name(item.clone()) else {
        return compile_error("#[ktest] goes on a function");
    };
    let registration = format!(
        "#[used] #[link_section = \".ktests\"] #[doc(hidden)] \
         static __KTEST_{upper}: ::framework::ktest::KtestDescriptor = \
         ::framework::ktest::KtestDescriptor {{ \
             module: ::core::module_path!(), name: \"{name}\", run: {name}, ignore: {ignore} \
         }};",
        upper = name.to_uppercase(),
    );
    let mut out = item;
    out.extend(registration.parse::<TokenStream>().expect("registration tokens"));
    out
}

/// The identifier after `fn`.
fn fn_name(item: TokenStream) -> Option<String> {
    let mut tokens = item.into_iter();
    while let Some(token) = tokens.next() {
        match token {
            TokenTree::Ident(ident) if ident.to_string() == "fn" => {
                return match tokens.next() {
                    Some(TokenTree::Ident(name)) => Some(name.to_string()),
                    _ => None,
                };
            }
            TokenTree::Group(group) if group.delimiter() == Delimiter::Brace => return None,
            _ => {}
        }
    }
    None
}

fn compile_error(message: &str) -> TokenStream {
    format!("::core::compile_error!({message:?});").parse().expect("compile_error tokens")
}

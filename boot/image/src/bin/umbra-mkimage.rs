//! `umbra-mkimage KERNEL_ELF OUTPUT`: write the bzImage for a kernel ELF.
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, input, output] = args.as_slice() else {
        eprintln!("usage: umbra-mkimage KERNEL_ELF OUTPUT");
        std::process::exit(2);
    };
    let result = std::fs::read(input)
        .map_err(|e| format!("{input}: {e}"))
        .and_then(|elf| umbra_image::build_bzimage(&elf).map_err(|e| e.to_string()))
        .and_then(|image| std::fs::write(output, image).map_err(|e| format!("{output}: {e}")));
    if let Err(error) = result {
        eprintln!("umbra-mkimage: {error}");
        std::process::exit(1);
    }
}

module moby-make/image/init

go 1.24
